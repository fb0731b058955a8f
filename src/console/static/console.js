document.addEventListener('keydown',function(ev){
 var t=ev.target.tagName;if(t==='INPUT'||t==='TEXTAREA'||t==='SELECT'){
  if(ev.key==='Enter'&&ev.ctrlKey&&ev.target.form){ev.target.form.submit();}
  if(ev.key==='Escape'){ev.target.blur();}return;}
 var rows=[].slice.call(document.querySelectorAll('tr[data-href]'));
 var i=rows.findIndex(function(r){return r.classList.contains('sel')});
 function pick(n){if(!rows.length)return;if(i>=0)rows[i].classList.remove('sel');i=Math.max(0,Math.min(rows.length-1,n));rows[i].classList.add('sel');rows[i].scrollIntoView({block:'nearest'});}
 if(ev.key==='j')pick(i+1);else if(ev.key==='k')pick(i-1);
 else if(ev.key==='Enter'&&i>=0)location=rows[i].dataset.href;
 else if(ev.key==='a'&&document.getElementById('approve'))document.getElementById('approve').submit();
 else if(ev.key==='e'&&document.getElementById('edited')){ev.preventDefault();document.getElementById('edited').focus();}
 else if(ev.key==='r'&&document.getElementById('reason')){ev.preventDefault();document.getElementById('reason').focus();}
 else if(ev.key==='Escape'&&document.getElementById('back'))location='/';
});
